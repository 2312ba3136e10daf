"""Placeholder page: filled in by the dashboard work (issue 5)."""
import streamlit as st

st.title("data_admin")
st.info("This page is being built.")
