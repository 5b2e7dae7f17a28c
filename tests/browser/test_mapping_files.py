"""Status mappings kept in a spreadsheet: export them, fix them, import them back (preview, then confirm)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from mappings.models import StatusMapping
from mappings.services import status_mappings_load_defaults
from tests.factories import SalesChannelFactory

HEADER = "channel,erp_state,platform_status,marketplace_status"


def mappings_of(channel) -> dict[str, str]:
    return dict(StatusMapping.objects.filter(channel=channel).values_list("erp_state", "platform_status"))


def upload(page: Page, csv: str) -> None:
    page.get_by_label("File to import:").set_input_files(
        {"name": "status-mappings.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_label("Format:").select_option(label="csv")
    page.get_by_role("button", name="Submit").click()


def test_a_manager_exports_the_status_mappings_and_imports_a_corrected_file(admin_page: Page):
    page = admin_page
    shop = SalesChannelFactory(code="shop")
    status_mappings_load_defaults(channel=shop)
    defaults = mappings_of(shop)

    page.goto("/admin/mappings/statusmapping/")
    page.get_by_role("link", name="Export").click()
    page.get_by_label("Format:").select_option(label="csv")
    with page.expect_download() as download:
        page.get_by_role("button", name="Submit").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()

    assert download.value.suggested_filename.endswith(".csv")
    assert exported[0] == HEADER
    assert sorted(exported[1:]) == sorted(f"shop,{state},{status}," for state, status in defaults.items())

    # The returned orders are to be left alone on VTEX; a typo in another row's channel.
    corrected = [line.replace("returned,refunded", "returned,ignored") for line in exported]
    page.goto("/admin/mappings/statusmapping/")
    page.get_by_role("link", name="Import").click()
    upload(page, "\n".join([*corrected, "shpo,confirmed,processing,"]))

    # One bad row refuses the whole file, naming the row and the reason; there is nothing to confirm.
    expect(page.get_by_role("heading", name="Some rows failed to validate")).to_be_visible()
    expect(page.locator("table.import-preview")).to_contain_text("No sales channel with code 'shpo'.")
    expect(page.get_by_role("button", name="Confirm import")).to_have_count(0)
    assert mappings_of(shop) == defaults

    # The fixed file is previewed first (nothing written yet), then confirmed.
    upload(page, "\n".join(corrected))
    update = page.locator("table.import-preview tr.update")
    expect(update).to_have_count(1)
    expect(update).to_contain_text("returned")
    expect(update.locator("ins")).to_have_count(1)  # the changed platform status, as a diff
    expect(page.locator("table.import-preview tr.skip")).to_have_count(len(defaults) - 1)
    assert mappings_of(shop) == defaults

    page.get_by_role("button", name="Confirm import").click()

    expect(page.locator("ul.messagelist")).to_contain_text("Import finished: 0 new, 1 updated, 0 deleted and 4 skipped")
    assert mappings_of(shop) == {**defaults, "returned": "ignored"}
    expect(page.locator("#result_list tbody tr", has_text="Returned")).to_contain_text("Ignored (push nothing)")
