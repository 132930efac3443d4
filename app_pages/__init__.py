"""Streamlit pages of the dashboard and the plain functions behind them.

Page modules (``*_page.py``) stay thin: they lay out widgets and call plain functions in
``context``, ``sources``, ``uploads``, ``planning`` and ``charts``, which never import
streamlit and are tested directly.  ``state`` and ``cache`` hold the streamlit-side glue.
"""
