import streamlit as st

st.title("Models")
st.plotly_chart({"data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2]}]})
