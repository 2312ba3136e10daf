"""Streamlit pages: the only package code that imports streamlit. Pages are thin."""
