"""The project's vocabulary, each rule written once: settings, measures, time.

Every other module reads these; nothing here reads the database or imports
streamlit, so the rules can be used (and tested) anywhere.
"""
