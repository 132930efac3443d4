"""Measurements: filter, plot and list the store's measurements; import files; a tiny sweep."""

import streamlit as st

from app_pages import cache, local_sweep, state, uploads
from app_pages.text import md
from planner.report import measurement_views as views
from planner.report.units import NOTHING

TABLE_HEADERS = {  # the store's columns in a reader's words (the data keep the file's names)
    "model": "LLM (as the file names it)",
    "system": "System",
    "energy_source": "Energy source",
    "estimated": "Estimated energy",
    "input_tokens": "Input tokens",
    "output_tokens": "Output tokens",
    "energy_j": "Energy per query (J)",
    "gpu_energy_j": "GPU energy of the batch (J)",
    "cpu_energy_j": "CPU energy of the batch (J)",
    "runtime_s": "Runtime per query (s)",
    "batch_size": "Queries in the batch",
    "flags": "Flags",
    "run_id": "Import or sweep",
}


def filters(df):
    options = views.filter_options(df)
    cols = st.columns([2, 2, 2, 1])
    models = cols[0].multiselect("Models", options["model"], key="m_models")
    systems = cols[1].multiselect("Systems", options["system"], key="m_systems")
    sources = cols[2].multiselect(
        "Energy source",
        options["energy_source"],
        key="m_sources",
        help="nvml / rapl: measured here; imported: from a file; estimated: not a measurement",
    )
    flagged = cols[3].checkbox("Include flagged", value=True, key="m_flagged")
    return views.apply_filters(df, models, systems, sources, include_flagged=flagged)


def charts(df) -> None:
    quantity = st.radio(
        "Show",
        list(views.QUANTITIES),
        horizontal=True,
        key="m_quantity",
        format_func=views.QUANTITIES.get,
    )
    if df["estimated"].any():
        st.warning(
            f"{int(df['estimated'].sum()):,} of these rows carry ESTIMATED energy, not "
            "measured energy: they are drawn as hollow x markers and labelled."
        )
    left, right = st.columns(2)
    left.plotly_chart(views.scatter(df, "input_tokens", quantity), width="stretch")
    right.plotly_chart(views.scatter(df, "output_tokens", quantity), width="stretch")


def import_section() -> None:
    st.subheader("Import measurement files")
    st.caption(
        "Paper-format CSV files (the shared reference files' layout). Flagged rows are "
        "kept and reported; re-importing the same file adds nothing."
    )
    for name, ok, result in st.session_state.pop("import_results", []):
        with st.status(  # status labels and table cells are markdown: names made literal
            f"Imported {md(name)}" if ok else f"{md(name)} not imported",
            state="complete" if ok else "error",
            expanded=True,
        ):
            if ok:
                st.table({md(label): md(value) for label, value in result})
            else:
                st.error(md(result))
    with st.form("import_form", clear_on_submit=True):
        files = st.file_uploader(
            "Measurement files",
            type=list(uploads.MEASUREMENT_TYPES),
            accept_multiple_files=True,
            key="m_upload",
        )
        system = st.text_input("System name (only for files that do not name one)", key="m_system")
        submitted = st.form_submit_button("Import")
    if submitted and files:
        results = []
        with st.status(f"Importing {len(files)} file(s)…"):
            for file in files:
                outcome = uploads.import_measurement_upload(
                    file.name, file.getvalue(), state.store_path(), system
                )
                results.append(
                    (
                        file.name,
                        outcome.ok,
                        uploads.import_summary_rows(outcome.value) if outcome.ok else outcome.error,
                    )
                )
        st.session_state["import_results"] = results
        cache.clear_data()
        st.rerun()  # redraw the charts above with the new rows


def sweep_section() -> None:
    st.subheader("Tiny local sweep")
    st.caption(
        "Times a tiny random-weight Llama on this machine's CPU; its energy is what "
        "the available meters give (estimated where no meter exists, and labelled so)."
    )
    with st.form("sweep_form"):
        cols = st.columns(4)
        inputs = cols[0].text_input("Input tokens", "8, 64", key="s_inputs")
        outputs = cols[1].text_input("Output tokens", "8, 32", key="s_outputs")
        trials = cols[2].number_input("Trials per cell", 1, 25, 3, key="s_trials")
        system = cols[3].text_input("System name", local_sweep.default_system(), key="s_system")
        go = st.form_submit_button("Run sweep")
    if go:
        try:
            request = local_sweep.sweep_request(inputs, outputs, trials, system)
        except local_sweep.SweepInputError as exc:
            st.error(md(exc))
            return
        bar = st.progress(0.0, text="Loading the tiny model…")

        def progress(done: int, total: int) -> None:
            bar.progress(
                min(done / max(total, 1), 1.0), text=f"{done} of {total} (input, output) cells"
            )

        with st.status("Running the sweep", expanded=False) as status:
            result = local_sweep.run_local_sweep(request, state.store_path(), progress)
            status.update(
                label=f"Sweep done: {result.n_trials} trials, run {md(result.run_id)}",
                state="complete",
            )
        source = getattr(result, "energy_source", "") or ""
        if "estimated" in source:
            st.warning(
                f"No energy meter on this machine: the sweep's energy is ESTIMATED "
                f"({md(source)}) and is labelled so everywhere."
            )
        cache.clear_data()


@state.guarded
def page() -> None:
    st.title("Measurements")
    path = state.store_path()
    df = cache.measurements(str(path), cache.store_version(path))
    if df.empty:
        st.info(
            f"The store {md(path)} holds no measurements yet. Import paper-format files or "
            "run a tiny sweep below; until then the Planner uses the reference catalogue."
        )
    else:
        shown = filters(views.per_query(df))
        st.caption(
            f"{len(shown):,} of {len(df):,} measurements from {md(path)}; per query "
            "(batch energy / batch size), total = GPU + CPU energy."
        )
        if shown.empty:
            st.warning("No measurements match these filters.")
        else:
            charts(shown)
            st.dataframe(
                views.table(shown),
                width="stretch",
                height=320,
                hide_index=True,
                column_config=TABLE_HEADERS,
                placeholder=NOTHING,
            )
    import_section()
    sweep_section()


page()
