"""Streamlit entry point (thin): the pages live in app_pages/."""
import streamlit as st

st.set_page_config(page_title="LLM inference energy planner", layout="wide")
st.title("LLM inference energy planner")
st.write("The dashboard is being built; see the README for the command-line tools.")
