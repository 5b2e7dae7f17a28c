"""HTTP edges of the feed v3 and hook simulator: parse, call a service, answer in VTEX's shape."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox.control import control_error
from sandbox.http import InvalidJson, json_body, json_response
from sandbox.vtex.auth import vtex_auth, vtex_error
from sandbox.vtex.models import Account
from sandbox.vtex_feed import services
from sandbox.vtex_feed.services import FeedError


def _refusal(error: FeedError):
    return vtex_error(error.status, error.code, error.message)


def _ok_without_body() -> HttpResponse:
    # VTEX documents these 200s without a body; an empty body is not JSON, so it is not labelled as such.
    return HttpResponse(b"", status=200, content_type="text/plain; charset=utf-8")


def _body(request):
    try:
        return json_body(request)
    except InvalidJson as exc:
        raise FeedError(400, "SBX-INVALID-BODY", str(exc)) from None


def _configuration_view(*, save, get, delete, show, missing_code: str, missing_message: str):
    """GET/POST/DELETE of the appKey's one feed or hook configuration (reference §1.1–1.3, §1.8)."""

    @csrf_exempt
    @require_http_methods(["GET", "POST", "DELETE"])
    @vtex_auth
    def view(request):
        account = request.vtex_account
        try:
            if request.method == "POST":
                save(account=account, data=_body(request))
                return _ok_without_body()
            if request.method == "DELETE":
                if not delete(account=account):
                    raise FeedError(404, missing_code, missing_message)
                return _ok_without_body()
            config = get(account=account)
            if config is None:
                raise FeedError(404, missing_code, missing_message)
            return json_response(show(config))
        except FeedError as error:
            return _refusal(error)

    return view


feed_config = _configuration_view(
    save=services.feed_config_save,
    get=services.feed_config_get,
    delete=services.feed_config_delete,
    show=lambda feed: services.feed_config_view(feed=feed),
    missing_code="SBX-FEED-NOT-FOUND",
    missing_message="There is no feed configuration for this appKey.",
)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@vtex_auth
def feed(request):
    account = request.vtex_account
    try:
        if request.method == "POST":
            handles = services.commit_parse(data=_body(request))
            services.feed_items_commit(account=account, handles=handles)
            return _ok_without_body()
        # The configuration is checked before maxlot: a missing feed is the more useful answer.
        if services.feed_config_get(account=account) is None:
            raise FeedError(404, "SBX-FEED-NOT-FOUND", "There is no feed configuration for this appKey.")
        maxlot = services.maxlot_parse(raw=request.GET.get("maxlot"))
        return json_response(services.feed_items_retrieve(account=account, maxlot=maxlot))
    except FeedError as error:
        return _refusal(error)


hook_config = _configuration_view(
    save=services.hook_config_save,
    get=services.hook_config_get,
    delete=services.hook_config_delete,
    show=lambda hook: services.hook_config_view(hook=hook),
    missing_code="SBX-HOOK-NOT-FOUND",
    missing_message="There is no hook configuration for this appKey.",
)


# --- control API (/_sim/vtex/...) ---------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def feed_faults(request):
    """POST {"duplicateRate": 0.1, "shuffle": true, "seed": 42}; DELETE switches both off."""
    if request.method == "DELETE":
        return json_response(services.feed_faults_set(duplicate_rate=0.0, shuffle=False, seed=0))
    if request.method == "GET":
        return json_response(services.feed_faults_get())
    try:
        data = json_body(request)
    except InvalidJson as exc:
        return control_error(str(exc))
    if not isinstance(data, dict):
        return control_error("The body must be a JSON object.")
    unknown = set(data) - {"duplicateRate", "shuffle", "seed"}
    if unknown:
        return control_error(f"Unknown feed fault fields: {', '.join(sorted(unknown))}")
    rate = data.get("duplicateRate", 0.0)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
        return control_error("duplicateRate must be a number from 0 to 1.")
    shuffle = data.get("shuffle", False)
    if not isinstance(shuffle, bool):
        return control_error("shuffle must be true or false.")
    seed = data.get("seed", 0)
    if not isinstance(seed, int | str) or isinstance(seed, bool):
        return control_error("seed must be an integer or a string.")
    return json_response(services.feed_faults_set(duplicate_rate=float(rate), shuffle=shuffle, seed=seed))


@csrf_exempt
@require_http_methods(["GET"])
def feed_queue(request):
    """GET ?appKey=... — the raw queue of that appKey's feed, plus its hook configuration."""
    app_key = request.GET.get("appKey")
    if not app_key:
        return control_error("Give appKey.")
    account = Account.objects.filter(app_key=app_key).first()
    if account is None:
        return control_error(f"No account has the appKey {app_key}.", status=404)
    return json_response(services.feed_queue_snapshot(account=account))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def hook_retries(request):
    """POST {"delays": [0.01, 0.02]} — seconds before each retry of a hook notification."""
    if request.method == "POST":
        try:
            data = json_body(request)
        except InvalidJson as exc:
            return control_error(str(exc))
        delays = data.get("delays") if isinstance(data, dict) else None
        if not isinstance(delays, list) or not all(
            isinstance(d, int | float) and not isinstance(d, bool) and d >= 0 for d in delays
        ):
            return control_error("delays must be a list of non-negative numbers of seconds.")
        services.hook_retry_delays_set(delays=delays)
    return json_response({"delays": services.hook_retry_delays_get()})
