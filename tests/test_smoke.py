def test_login_page_renders(client, app):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_demo_admin_signs_in_and_sees_clinics(demo, login, client):
    login("demo@example.com")
    page = client.get("/").get_data(as_text=True)
    assert "Bondi Physio" in page
    assert "Coogee Podiatry" in page
    assert "Chatswood Physio" not in page
