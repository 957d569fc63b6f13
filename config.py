"""Settings, read from the environment.

APP_ENV picks the profile: ``production`` (the default), ``development`` or
``testing``. Outside development and testing, SECRET_KEY must be set.
"""
import os
from datetime import timedelta


def _bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(raw):
    """Point PostgreSQL URLs at the psycopg 3 driver; keep others as given."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


class Config:
    APP_ENV = "production"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = None  # filled by the factory: DATABASE_URL or instance/voting.sqlite3
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    BABEL_DEFAULT_LOCALE = "ko"
    BABEL_DEFAULT_TIMEZONE = "Asia/Seoul"
    LANGUAGES = ("ko", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = 12 * 3600

    PASSWORD_HASH_METHOD = "scrypt"

    # A photo may be 5 MB; the rest of the form fits in the margin.
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024
    PHOTO_MAX_BYTES = 5 * 1024 * 1024

    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "noreply@localhost")
    MAIL_TIMEOUT = 10

    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    EMAIL_RATE_LIMIT = os.environ.get("EMAIL_RATE_LIMIT", "5 per minute;20 per hour")
    # Per address; a venue's Wi-Fi puts many voters behind one address, so it is generous.
    CODE_RATE_LIMIT = os.environ.get("CODE_RATE_LIMIT", "30 per minute;600 per hour")

    EMAIL_VERIFY_MAX_AGE = 3 * 24 * 3600
    PASSWORD_RESET_MAX_AGE = 2 * 3600
    INVITATION_MAX_AGE = 7 * 24 * 3600

    # The address put in mailed links when no request is there to tell it.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL")

    # Keys phone numbers and SMS codes (HMAC); apart from SECRET_KEY so that one leak is not both.
    IDENTITY_KEY = os.environ.get("IDENTITY_KEY")
    # console (prints the message on the server's console), webhook (signed JSON POST to a gateway),
    # solapi (SOLAPI / CoolSMS through its official SDK; SMS_SENDER must be a sender number registered there).
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "webhook")
    SMS_WEBHOOK_URL = os.environ.get("SMS_WEBHOOK_URL")
    SMS_WEBHOOK_SECRET = os.environ.get("SMS_WEBHOOK_SECRET")
    SMS_SENDER = os.environ.get("SMS_SENDER", "")
    SMS_TIMEOUT = 10
    SOLAPI_API_KEY = os.environ.get("SOLAPI_API_KEY")
    SOLAPI_API_SECRET = os.environ.get("SOLAPI_API_SECRET")
    SOLAPI_BASE_URL = os.environ.get("SOLAPI_BASE_URL")  # unset: the SDK's own (https://api.solapi.com)
    # A code goes to one phone at most this often, and from one address at most this often.
    SMS_PHONE_RATE_LIMIT = os.environ.get("SMS_PHONE_RATE_LIMIT", "3 per 10 minutes;10 per day")
    SMS_ADDRESS_RATE_LIMIT = os.environ.get("SMS_ADDRESS_RATE_LIMIT", "20 per hour")
    SMS_CODE_MAX_AGE = 5 * 60
    SMS_CODE_MAX_FAILURES = 5


class DevelopmentConfig(Config):
    APP_ENV = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", "development-only-not-secret")
    IDENTITY_KEY = os.environ.get("IDENTITY_KEY", "development-only-identity-key")
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-not-secret"
    IDENTITY_KEY = "testing-only-identity-key"
    SMS_BACKEND = "console"
    SMS_PHONE_RATE_LIMIT = "1000 per minute"
    SMS_ADDRESS_RATE_LIMIT = "1000 per minute"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "1000 per minute"
    # Fast hashing keeps the suite quick; production keeps scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    EMAIL_RATE_LIMIT = "1000 per minute"
    CODE_RATE_LIMIT = "1000 per minute"
    MAIL_SERVER = None
    WTF_CSRF_ENABLED = True


PROFILES = {
    "production": Config,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}


def profile_from_environment():
    name = os.environ.get("APP_ENV", "production")
    if name not in PROFILES:
        raise RuntimeError(f"APP_ENV must be one of {sorted(PROFILES)}, not {name!r}")
    return PROFILES[name]
