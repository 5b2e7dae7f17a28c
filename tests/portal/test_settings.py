import json

from django.conf import settings

from tests.support.settings_env import PRODUCTION_ENV, deploy_check, run_django


def test_production_mode_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_django("import django; django.setup()", env)
    assert result.returncode != 0
    assert "The SECRET_KEY environment variable is required when DEBUG is off" in result.stderr


def test_production_mode_refuses_to_start_without_encryption_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = run_django("import django; django.setup()", env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY environment variable is required" in result.stderr


def test_development_mode_starts_without_secret_key():
    result = run_django("import django; django.setup(); print('ok')", {"DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_production_settings_pass_the_deploy_check():
    result = deploy_check(**PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_fails_while_the_sandbox_is_enabled():
    result = deploy_check(**PRODUCTION_ENV, SANDBOX_ENABLED="1")
    assert result.returncode != 0
    assert "sandbox.E001" in result.stderr + result.stdout


def test_sandbox_is_off_by_default_in_production():
    code = "import django; django.setup(); from django.conf import settings; print(settings.SANDBOX_ENABLED)"
    result = run_django(code, PRODUCTION_ENV)
    assert result.stdout.strip() == "False", result.stderr


def test_default_database_is_sqlite_tuned_for_concurrent_writers():
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    result = run_django(code, {"DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["OPTIONS"]["timeout"] >= 5
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


def test_database_url_selects_postgresql():
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'])"
    )
    result = run_django(code, {"DEBUG": "1", "DATABASE_URL": "postgres://u@db.example:5432/portal"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.postgresql"


def test_queues_use_the_json_serializer():
    import django_rq
    from rq.serializers import JSONSerializer

    for name in settings.RQ_QUEUES:
        assert django_rq.get_queue(name).serializer is JSONSerializer


def test_rqworker_command_defaults_to_the_json_serializer():
    from portal.management.commands.rqworker import Command

    options = Command().create_parser("manage.py", "rqworker").parse_args([])
    assert options.serializer == settings.RQ_SERIALIZER == "rq.serializers.JSONSerializer"


def test_login_lockout_is_configured_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_LOCKOUT_PARAMETERS)"
    )
    env = {"DEBUG": "1", "LOGIN_FAILURE_LIMIT": "3", "LOGIN_COOLOFF_SECONDS": "60", "LOGIN_LOCKOUT_BY": "ip_address"}
    result = run_django(code, env)
    assert result.stdout.strip() == "3 60.0 ['ip_address']", result.stderr

    result = run_django(code, {"DEBUG": "1"})
    assert result.stdout.strip() == "5 900.0 [['username', 'ip_address']]", result.stderr


def test_an_unknown_lockout_parameter_stops_the_start():
    result = run_django("import django; django.setup()", {"DEBUG": "1", "LOGIN_LOCKOUT_BY": "username+ip"})
    assert result.returncode != 0
    assert "LOGIN_LOCKOUT_BY takes comma-separated sets of username, ip_address and user_agent" in result.stderr
