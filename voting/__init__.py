"""The application factory: each register_* step wires one concern."""
import os
from pathlib import Path

from flask import Flask

from config import database_url, profile_from_environment

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None):
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("INSTANCE_PATH", str(PROJECT_ROOT / "instance")),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    register_config(app, test_config)
    register_database(app)
    register_extensions(app)
    register_i18n(app)
    register_blueprints(app)
    register_security(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_config(app, test_config):
    if test_config and test_config.get("APP_ENV") == "testing":
        from config import TestingConfig

        app.config.from_object(TestingConfig)
    else:
        app.config.from_object(profile_from_environment())
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in the environment outside development")
    if not app.config.get("IDENTITY_KEY"):
        raise RuntimeError("IDENTITY_KEY must be set in the environment outside development (a secret apart from SECRET_KEY)")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        default = "sqlite:///" + str(Path(app.instance_path) / "voting.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(os.environ.get("DATABASE_URL", default))


def register_database(app):
    from voting.database import configure_sqlite

    configure_sqlite(app)


def register_extensions(app):
    from voting.extensions import csrf, db, limiter, login_manager, migrate

    import voting.models  # noqa: F401  (all tables into the metadata)

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    from voting.accounts.session import configure_login

    configure_login(login_manager)


def register_i18n(app):
    from voting.i18n import configure_i18n

    configure_i18n(app)


def register_blueprints(app):
    from voting.accounts.routes import bp as accounts
    from voting.admin.routes import bp as admin
    from voting.ballots.manage import bp as voting_admin
    from voting.ballots.routes import bp as ballots
    from voting.dayof.routes import bp as dayof
    from voting.desk.routes import bp as desk
    from voting.electors.link_routes import bp as links
    from voting.electors.manage import bp as roll
    from voting.electors.privacy_routes import bp as privacy
    from voting.electors.routes import bp as electors
    from voting.events.routes import bp as events
    from voting.exports.certificate_routes import bp as certificates
    from voting.exports.routes import bp as exports
    from voting.judging.routes import bp as judging
    from voting.nominations.routes import bp as nominations
    from voting.projector.routes import bp as projector
    from voting.public.routes import bp as public
    from voting.results.routes import bp as results
    from voting.sealing.routes import bp as sealing

    for blueprint in (public, accounts, events, nominations, admin, ballots, voting_admin, judging, results,
                      exports, certificates, dayof, projector, electors, roll, links, desk, privacy, sealing):
        app.register_blueprint(blueprint)


def register_security(app):
    from voting.security import add_security_headers

    app.after_request(add_security_headers)


def register_error_handlers(app):
    from voting.errors import register

    register(app)


def register_commands(app):
    from voting.cli import cli

    app.cli.add_command(cli)
