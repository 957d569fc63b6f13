from tests import factories


def test_home_renders_in_korean(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "협치" in response.get_data(as_text=True)


def test_login_and_account(web, login_as, client):
    user = login_as("resident")
    page = client.get("/account").get_data(as_text=True)
    assert user.email in page


def test_event_factory(make_event, make_user, app):
    event = make_event()
    assert len(event.categories) == 2
    assert event.fields[0].name == "경제산업"
    assert factories.PASSWORD
