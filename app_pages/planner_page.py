import streamlit as st

st.title("Planner")
st.plotly_chart({"data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2]}]})
