import pytest
from django.test import Client

SANDBOX_MIDDLEWARE = ["sandbox.middleware.SandboxMiddleware"]


def pytest_collection_modifyitems(items):
    # Simulator tests touch the sandbox database alias; give each one access unless it asked itself.
    for item in items:
        if "tests/sandbox/" in str(item.fspath) and item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db(databases=["default", "sandbox"]))


@pytest.fixture
def sim(settings) -> Client:
    """A test client talking to the sandbox's URLconf and middleware, from the seed state."""
    from sandbox.control import sandbox_reset

    settings.ROOT_URLCONF = "sandbox.urls"
    settings.MIDDLEWARE = SANDBOX_MIDDLEWARE
    settings.ALLOWED_HOSTS = ["*"]
    sandbox_reset()
    return Client()
