"""The sidebar's sources of fits: the reference catalogue and a real store, labelled."""

from app_pages import sources


def test_catalogue_set_is_labelled_and_cited():
    catalogue = sources.catalogue_reports()
    assert catalogue.kind == sources.KIND_CATALOGUE
    assert "Wilkins" in catalogue.citation
    assert set(catalogue.forms()) == {"paper", "default"}


def test_store_set_is_labelled_with_its_store(reference_store):
    rs = sources.store_reports(reference_store)
    assert rs.kind == sources.KIND_STORE and rs.label.endswith(f"store {reference_store.name}")
    assert str(reference_store.parent) not in rs.label  # exports carry it: no server folders
    assert {r.source for r in rs.reports} == {f"store {reference_store.name}"}
    assert any(r.model == "Llama-2-7b-chat-hf" and r.form == "default" for r in rs.reports)
