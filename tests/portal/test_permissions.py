"""Who may open which admin page and run which action: a matrix generated from the admin registry.

Four roles (superuser; manager: every add, change, delete and view permission of the portal's apps;
viewer: their view permissions; staff without permissions) against every model registered in the admin:
its changelist, add, change, delete and history pages, its import and export pages where it has them,
each further admin view (EXTRA_VIEWS), every action of its admin POSTed through the changelist, and
django-rq's dashboard views, pages and POSTs, at both places they are served. The expected answer comes
from the Django permissions a page or action needs, not from the admin's own has_*_permission methods;
only what an admin refuses everyone (order syncs have no add page) is read from the admin, as a superuser
sees it. A new model, page or action is in the matrix without anyone adding it, and an admin URL the
matrix does not know fails test_every_admin_url_is_in_the_matrix. (Design §2.10, §6; issue #13.)
"""

from __future__ import annotations

from dataclasses import dataclass

import django_rq
import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch
from django_rq.settings import get_queues_list
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

from portal.admin_rq import RQ_DASHBOARD_PERMISSION
from portal.admin_secrets import secret_field_names
from tests.factories import (
    BulkRunFactory,
    BulkRunItemFactory,
    CarrierCodeFactory,
    CatalogWorkFactory,
    FeedPollStateFactory,
    InboxEventFactory,
    OrderLinkFactory,
    OrderSyncFactory,
    PriceTableMappingFactory,
    SalesChannelFactory,
    SkuMappingFactory,
    StatusMappingFactory,
    WarehouseMappingFactory,
)

PORTAL_APPS = ("mappings", "sync", "bulk", "catalog")  # bulk, catalog: sync.bulk's, sync.catalog's app labels
ROLES = ("superuser", "manager", "viewer", "staff")
PK = "PK"  # stands for the object's primary key in a case's URL until the test fills it in
JOB = "JOB"  # stands for a queued job's id in django-rq's URLs
WORKER = "WORKER"  # and for a registered worker's key

# A permission requirement: any one of the alternatives, each a set of permissions all needed. () is "nobody".
Needs = tuple[tuple[str, ...], ...]


def perm(opts, action: str) -> str:
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


def view_or_change(opts) -> Needs:
    return ((perm(opts, "view"),), (perm(opts, "change"),))


def both(first: Needs, second: Needs) -> Needs:
    return tuple(a + b for a in first for b in second)


# Actions whose admin checks a permission of its own (@admin.action(permissions=["<name>"]) and
# has_<name>_permission): what each needs, in Django permissions.
CUSTOM_ACTION_PERMISSIONS: dict[tuple[str, str], Needs] = {
    ("mappings.SalesChannel", "load_status_mappings"): (
        ("mappings.change_saleschannel", "mappings.add_statusmapping"),
    ),
    ("sync.OrderSync", "retry"): (("sync.change_ordersync",),),
    ("sync.InboxEvent", "retry"): (("sync.change_inboxevent",),),
    ("catalog.CatalogWork", "retry"): (("catalog.change_catalogwork",),),
}
RQ_NEEDS: Needs = ((RQ_DASHBOARD_PERMISSION,),)
TOTP_DEVICE_SEEN: Needs = (("otp_totp.view_totpdevice",), ("otp_totp.change_totpdevice",))
# Admin views beyond the standard pages, by URL name: method, whether the URL names an object, and needs.
EXTRA_VIEWS: dict[str, tuple[str, bool, Needs]] = {
    "sync_ordersync_retry": ("POST", True, (("sync.change_ordersync",),)),
    "sync_ordersync_dry_run": ("POST", True, (("sync.change_ordersync",),)),
    "auth_user_password_change": ("GET", True, (("auth.change_user",),)),
    # A TOTP device's key and QR code: django-otp shows them to no one with OTP_ADMIN_HIDE_SENSITIVE_DATA.
    **{
        f"otp_totp_totpdevice_{view}": (
            "GET",
            True,
            () if getattr(settings, "OTP_ADMIN_HIDE_SENSITIVE_DATA", False) else TOTP_DEVICE_SEEN,
        )
        for view in ("config", "qrcode")
    },
}
# The bulk runs' views (sync.bulk.admin): starting needs the custom permission and a view of the channels;
# the progress JSON is the run page's; pause, resume, cancel and repair need the custom permission.
BULK_START: Needs = (
    ("bulk.start_bulkrun", "mappings.view_saleschannel"),
    ("bulk.start_bulkrun", "mappings.change_saleschannel"),
)
EXTRA_VIEWS |= {
    "bulk_bulkrun_start": ("GET", False, BULK_START),
    "bulk_bulkrun_progress": ("GET", True, (("bulk.view_bulkrun",), ("bulk.change_bulkrun",))),
    **{f"bulk_bulkrun_{view}": ("POST", True, (("bulk.start_bulkrun",),)) for view in ("pause", "resume", "cancel")},
    "bulk_bulkrun_repair": ("POST", True, (("bulk.start_bulkrun",),)),
    # The unmatched SKUs report (and its CSV): what the SKU mapping list shows, so the same permission.
    "mappings_skumapping_unmatched": ("GET", False, (("mappings.view_skumapping",), ("mappings.change_skumapping",))),
    # The catalog failures by cause: what the work item list shows, so the same permission.
    "catalog_catalogwork_causes": ("GET", False, (("catalog.view_catalogwork",), ("catalog.change_catalogwork",))),
}
# Extra POST views that answer an allowed empty POST with a redirect back (a message says what happened): the
# world's run has ended, so pause, resume and cancel are refused, and a repair of nothing is a message.
POST_REDIRECTS = {f"admin:bulk_bulkrun_{view}" for view in ("pause", "resume", "cancel", "repair")}
# Site-wide admin views any logged-in staff user may use (each shows only what the user may see).
SITE_VIEWS = {"index", "app_list", "login", "logout", "password_change", "password_change_done", "jsi18n"}
SITE_VIEWS |= {"autocomplete", "view_on_site"}  # each checks the permission of the model it reads
# django-rq views that act on a POST, with the form each gets.
RQ_POSTS: dict[str, dict] = {
    "clear": {},
    "requeue_all": {},
    "delete_failed_jobs": {},
    "delete_job": {},
    "requeue_job": {},
    "enqueue_job": {},
    "stop_job": {},
    "confirm_action": {"action": "delete", "_selected_action": [JOB]},
    "actions": {"action": "delete", "job_ids": [JOB]},
}
# django-rq lists the queues by name ("bulk", "default"): the views act on the queue the test job is in.
DEFAULT_QUEUE_INDEX = [queue["name"] for queue in get_queues_list()].index("default")
RQ_URL_ARGUMENTS = {
    "queue_index": DEFAULT_QUEUE_INDEX,
    "scheduler_index": 0,
    "connection_index": 0,
    "job_id": JOB,
    "result_id": "0-0",
    "key": WORKER,
    "scheduler_name": "no-such-scheduler",
    "cron_job_name": "no-such-job",
}


@dataclass(frozen=True)
class Case:
    kind: str  # "page", "action", "rq" (django-rq view) or "rq-api" (its token-or-session JSON views)
    method: str
    url_name: str
    needs: Needs
    model: str | None = None  # the model's label where the URL names one of its objects or actions
    with_object: bool = False
    action: str | None = None
    kwargs: tuple = ()

    def url(self, *, pk=None, rq_objects=None) -> str:
        kwargs = {k: (rq_objects or {}).get(v, v) for k, v in self.kwargs}
        args = [pk] if self.with_object else []
        return reverse(self.url_name, args=args) if args else reverse(self.url_name, kwargs=kwargs)

    def describe(self) -> str:
        try:
            shown = self.url(pk=PK)
        except NoReverseMatch:  # a URL taking a number only
            shown = self.url(pk=0).replace("/0/", f"/{PK}/")
        return f"{self.method} {shown}" + (f" action={self.action}" if self.action else "")


def superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User(username="design", is_superuser=True, is_staff=True, is_active=True)
    return request


def reversible(name: str, *, with_object: bool) -> bool:
    try:
        reverse(name, args=[0] if with_object else [])
    except NoReverseMatch:
        return False
    return True


def model_cases() -> list[Case]:
    request = superuser_request()
    cases = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        label = opts.label
        base = f"admin:{opts.app_label}_{opts.model_name}"
        if label == "django_rq.Dashboard":
            cases.append(Case("page", "GET", f"{base}_changelist", RQ_NEEDS))
            continue  # its other views are django-rq's own: rq_cases()
        seen = view_or_change(opts) if model_admin.has_view_or_change_permission(request) else ()
        pages = {
            "changelist": (False, seen),
            "add": (False, ((perm(opts, "add"),),) if model_admin.has_add_permission(request) else ()),
            "change": (True, seen),
            "delete": (True, ((perm(opts, "delete"),),) if model_admin.has_delete_permission(request) else ()),
            "history": (True, seen),
        }
        for page, (with_object, needs) in pages.items():
            cases.append(Case("page", "GET", f"{base}_{page}", needs, label, with_object))
        if hasattr(model_admin, "has_import_permission"):
            imports = ((perm(opts, "add"), perm(opts, "change")),) if model_admin.has_import_permission(request) else ()
            cases.append(Case("page", "GET", f"{base}_import", imports, label))
            cases.append(Case("page", "POST", f"{base}_process_import", imports, label))
        if hasattr(model_admin, "has_export_permission"):
            exports = ((perm(opts, "view"),),) if model_admin.has_export_permission(request) else ()
            cases.append(Case("page", "GET", f"{base}_export", exports, label))
            cases.append(Case("page", "POST", f"{base}_export", exports, label))
        for name, (func, _, _) in model_admin.get_actions(request).items():
            declared = getattr(func, "allowed_permissions", None)
            if declared is None:
                needs = seen  # Django offers an undeclared action to everyone who sees the changelist
            else:
                needs = ()
                for permission in declared:
                    if permission == "view":
                        needs += view_or_change(opts)
                    elif permission in ("add", "change", "delete"):
                        needs += ((perm(opts, permission),),)
                    else:
                        needs += CUSTOM_ACTION_PERMISSIONS.get((label, permission), (("(undeclared)",),))
                needs = both(seen, needs)
            cases.append(Case("action", "POST", f"{base}_changelist", needs, label, action=name))
    for name, (method, with_object, needs) in EXTRA_VIEWS.items():
        if reversible(f"admin:{name}", with_object=with_object):
            model = next(
                m._meta.label for m in admin.site._registry if name.startswith(m._meta.label_lower.replace(".", "_"))
            )
            cases.append(Case("page", method, f"admin:{name}", needs, model, with_object))
    return cases


def rq_patterns(prefix: str) -> list[tuple[str, URLPattern]]:
    return [("rq-api", p) for p in get_api_urlpatterns(prefix)] + [("rq", p) for p in get_admin_urlpatterns(prefix)]


def rq_cases() -> list[Case]:
    cases = []
    for namespace, prefix in (("django_rq", ""), ("admin", "django_rq_")):
        seen = set()
        for kind, pattern in rq_patterns(prefix):
            if pattern.name in seen:
                continue  # stats.json has two routes under one name
            seen.add(pattern.name)
            route = getattr(pattern.pattern, "converters", {}) or pattern.pattern.regex.groupindex
            kwargs = tuple((name, RQ_URL_ARGUMENTS[name]) for name in route if name in RQ_URL_ARGUMENTS)
            url_name = f"{namespace}:{pattern.name}"
            cases.append(Case(kind, "GET", url_name, RQ_NEEDS, kwargs=kwargs))
            if pattern.name.removeprefix(prefix) in RQ_POSTS:
                cases.append(Case(kind, "POST", url_name, RQ_NEEDS, kwargs=kwargs))
    return cases


CASES = model_cases() + rq_cases()


# --- the world: one per module, rolled back at its end ------------------------------------------------------


def build_objects(superuser: User) -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_otp.plugins.otp_totp.models import TOTPDevice

    channel = SalesChannelFactory(code="shop", vtex_app_token="MATRIX-APP-TOKEN-77", vtex_hook_secret="MATRIX-HOOK-99")
    StatusMappingFactory(channel=channel)
    CarrierCodeFactory(channel=channel, erp_carrier_key="MATRIX")
    link = OrderLinkFactory(channel=channel)
    WarehouseMappingFactory(channel=channel)
    PriceTableMappingFactory(channel=channel)
    SkuMappingFactory(channel=channel, unmapped=True)  # the catalog settings come with the channel
    CatalogWorkFactory(channel=channel, failed=True)
    sync = OrderSyncFactory(
        channel=channel,
        failed=True,
        order_link=link,
        vtex_order_id=link.vtex_order_id,
        erp_order_id=link.erp_order_id,
        erp_order_number=link.erp_order_number,
    )
    InboxEventFactory(channel=channel, failed=True, order_sync=sync)
    FeedPollStateFactory(channel=channel)
    run = BulkRunFactory(channel=channel, finished=True, reconciliation=True)  # ended: its delete page opens
    BulkRunItemFactory(run=run, difference=True, order_link=link)
    Group.objects.create(name="Integration managers")
    access = {"user_agent": "matrix", "ip_address": "192.0.2.1", "username": "someone", "http_accept": "*/*"}
    AccessAttempt.objects.create(**access, path_info="/admin/login/", get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**access, path_info="/admin/login/")
    AccessFailureLog.objects.create(**access, path_info="/admin/login/")
    TOTPDevice.objects.create(user=superuser, name="phone")


def role_user(role: str) -> User:
    if role == "superuser":
        return User.objects.create_superuser("matrix-superuser", "su@example.com", None)
    user = User.objects.create_user(f"matrix-{role}", is_staff=True)
    portal = Permission.objects.filter(content_type__app_label__in=PORTAL_APPS)
    if role == "manager":
        user.user_permissions.set(portal)
    elif role == "viewer":
        user.user_permissions.set(portal.filter(codename__startswith="view_"))
    return user


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The role users, their logged-in clients and one object of every registered model, built once for the
    module inside a transaction each test's own transaction nests in; rolled back after the last test."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            users = {role: role_user(role) for role in ROLES}
            build_objects(users["superuser"])
            clients = {}
            for role, user in users.items():
                clients[role] = Client()
                clients[role].force_login(user)
            yield {"users": users, "clients": clients}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def rq_objects(redis_conn):
    """A queued job that is also on the failed list (so every job view, requeue too, has one to act on) and a
    registered worker (not running: the dashboard only reads its record)."""
    from rq import Worker

    queue = django_rq.get_queue("default", commit_mode="auto")
    job = queue.enqueue("sync.jobs.inbox_drain_job")
    queue.failed_job_registry.add(job, exc_string="RuntimeError: the matrix's failed job")
    worker = Worker([queue], connection=queue.connection, name="matrix-worker")
    worker.register_birth()
    yield {JOB: job.id, WORKER: worker.key}
    worker.register_death()


def allowed(user: User, needs: Needs) -> bool:
    return any(all(user.has_perm(p) for p in alternative) for alternative in needs)


def an_object(label: str):
    model = next(m for m in admin.site._registry if m._meta.label == label)
    if label == "auth.User":
        return User.objects.get(username="matrix-staff")
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"no {label} to open: build one in build_objects() of {__name__}"
    return obj


def export_form_data(world, case: Case) -> dict:
    from django import forms

    form = world["clients"]["superuser"].get(reverse(case.url_name)).context["form"]
    return {
        "format": "0",
        "resource": "0",
        **{name: "on" for name, field in form.fields.items() if isinstance(field, forms.BooleanField)},
    }


def world_secrets() -> list[str]:
    from mappings.models import SalesChannel

    names = secret_field_names(SalesChannel)
    return [value for channel in SalesChannel.objects.all() for value in (getattr(channel, n) for n in names) if value]


def action_ran(response) -> bool:
    if response.status_code == 403:
        return False
    if "No action selected." in [str(m) for m in get_messages(response.wsgi_request)]:
        return False
    if response.status_code == 200 and "admin/change_list.html" in [t.name for t in response.templates]:
        return False  # the user had no action at all: Django showed the list and ignored the POST
    assert response.status_code in (200, 302), response.status_code
    return True


def cases_for_roles(cases: list[Case]):
    params = []
    for case in cases:
        for role in ROLES:
            params.append(pytest.param(role, case, id=f"{role}-{case.describe()}"))
    return params


# --- the matrix -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "case"), cases_for_roles([c for c in CASES if c.kind in ("page", "action")]))
def test_admin_pages_and_actions(world, db, role, case):
    user = world["users"][role]
    client = world["clients"][role]
    expected = allowed(user, case.needs)
    pk = an_object(case.model).pk if case.with_object or case.action else None
    url = case.url(pk=pk)

    if case.kind == "action":
        response = client.post(url, {"action": case.action, "_selected_action": [pk]})
        assert action_ran(response) == expected
        return
    if case.method == "GET":
        response = client.get(url)
        assert response.status_code == (200 if expected else 403)
        return
    if case.url_name.endswith("_export"):
        response = client.post(url, export_form_data(world, case))
        assert response.status_code == (200 if expected else 403)
        if expected:
            assert response["Content-Disposition"].startswith("attachment;")
            assert not [s for s in world_secrets() if s in response.content.decode(errors="replace")]
        return
    response = client.post(url, {})
    redirects = case.url_name.endswith("_retry") or case.url_name in POST_REDIRECTS
    assert response.status_code == ((302 if redirects else 200) if expected else 403)


@pytest.mark.parametrize(("role", "case"), cases_for_roles([c for c in CASES if c.kind.startswith("rq")]))
def test_rq_dashboard_views(world, db, rq_objects, role, case):
    user = world["users"][role]
    client = world["clients"][role]
    expected = allowed(user, case.needs)
    url = case.url(rq_objects=rq_objects)
    form = RQ_POSTS.get(case.url_name.split(":")[1].removeprefix("django_rq_"), {})
    data = {
        name: [rq_objects.get(v, v) for v in value] if isinstance(value, list) else value
        for name, value in form.items()
    }

    response = client.get(url) if case.method == "GET" else client.post(url, data)

    if expected:
        assert response.status_code not in (401, 403) and response.status_code < 500, response.status_code
        assert "/login/" not in response.get("Location", "")
    else:
        assert response.status_code == (401 if case.kind == "rq-api" else 403)
        queue = django_rq.get_queue("default", commit_mode="auto")
        assert queue.job_ids == [rq_objects[JOB]]  # nothing emptied, deleted or requeued


# --- what keeps the matrix whole --------------------------------------------------------------------------


def admin_url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            names |= admin_url_names(entry, namespace)
        elif entry.name:
            names.add(entry.name)
    return names


def test_every_admin_url_is_in_the_matrix():
    admin_resolver = next(
        p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "admin"
    )
    covered = {c.url_name.removeprefix("admin:") for c in CASES if c.url_name.startswith("admin:")}
    unknown = admin_url_names(admin_resolver) - covered - SITE_VIEWS

    assert not unknown, f"admin views the permission matrix does not know: {sorted(unknown)} (add them to EXTRA_VIEWS)"


def test_the_rq_dashboard_mount_serves_only_the_guarded_views():
    mount = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "django_rq")
    covered = {c.url_name.removeprefix("django_rq:") for c in CASES if c.url_name.startswith("django_rq:")}

    assert admin_url_names(mount) == covered


def test_every_admin_action_declares_its_permission():
    # Third-party admins included: django-axes' clean-up action declared none (portal/admin.py).
    request = superuser_request()
    undeclared = [
        f"{type(model_admin).__name__}.{name}"
        for model_admin in admin.site._registry.values()
        for name, (func, _, _) in model_admin.get_actions(request).items()
        if not getattr(func, "allowed_permissions", None)
    ]

    assert not undeclared


def test_the_matrix_covers_every_registered_model_and_role():
    labels = {c.model for c in CASES if c.model}
    registered = {m._meta.label for m in admin.site._registry if m._meta.managed}

    assert registered <= labels
    assert len(CASES) * len(ROLES) > 400  # pages, actions and RQ views for four roles


def test_a_staff_user_with_django_rqs_permission_may_use_the_dashboard(db, django_user_model, rq_objects):
    user = django_user_model.objects.create_user("operator", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="django_rq", codename="admin"))
    client = Client()
    client.force_login(user)

    assert client.get(reverse("django_rq:home")).status_code == 200
    assert (
        client.get(reverse("admin:django_rq_job_detail", args=[DEFAULT_QUEUE_INDEX, rq_objects[JOB]])).status_code
        == 200
    )
    assert client.post(reverse("django_rq:clear", args=[DEFAULT_QUEUE_INDEX])).status_code == 302
    assert django_rq.get_queue("default", commit_mode="auto").count == 0
    assert "Django-RQ" in client.get(reverse("admin:index")).content.decode()


def test_the_admin_index_offers_the_rq_dashboard_only_to_who_may_use_it(world, db):
    index = {role: world["clients"][role].get(reverse("admin:index")).content.decode() for role in ROLES}

    assert {role: "Django-RQ" in html for role, html in index.items()} == {
        "superuser": True,
        "manager": False,
        "viewer": False,
        "staff": False,
    }
