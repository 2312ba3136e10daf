"""Read, map and validate import files (DESIGN §6), then store them whole.

- ``read``: CSV/XLSX into text frames (encodings, separators, sheets, size limits)
- ``dates``: the date and timestamp formats of form tools and spreadsheets
- ``cells``: numbers, flags, answers and the text rules of single cells
- ``schemas``: one pandera ``DataFrameModel`` per file type; failures -> problems
- ``validate``: each file type, all its problems at once
- ``mapping``: mapping files for form-tool survey exports and HR roster exports
- ``core``: ``prepare`` (everything validated before any write) and ``import_files``
  (an unchanged file imported before is recognised by its fingerprint and skipped)
- ``limits``: ``ImportLimits``, the plausibility limits

Validation is all-or-nothing: every file of one import call is validated before
anything is written, and the writes happen in one transaction.  The format
guide for people is docs/IMPORT.md.
"""
from burnout.ingest.core import (SHOW_KEYS, ImportSummary, import_files, prepare, store_prepared,
                                 terminal_progress)
from burnout.ingest.dates import DateStyle, parse_dates
from burnout.ingest.limits import ImportLimits
from burnout.ingest.mapping import (MAPPING_TARGETS, apply_mapping, apply_roster_mapping, date_style,
                                    load_mapping)
from burnout.ingest.problems import EMPTY_BUT_REQUIRED, MAX_PROBLEMS, Problems
from burnout.ingest.read import read_table, sheet_names
from burnout.ingest.validate import (CASELOAD_NUMERIC, CASELOAD_OPTIONAL, CASELOAD_REQUIRED, EVENT_OPTIONAL,
                                     EVENT_REQUIRED, ROSTER_OPTIONAL, ROSTER_REQUIRED, STANDARD_WEEK_HOURS,
                                     SURVEY_KEYS, absent_caseload_columns, is_event_file, rollup_events,
                                     validate_caseload, validate_events, validate_roster, validate_surveys)

__all__ = [
    "CASELOAD_NUMERIC", "CASELOAD_OPTIONAL", "CASELOAD_REQUIRED", "EMPTY_BUT_REQUIRED", "EVENT_OPTIONAL",
    "EVENT_REQUIRED", "MAPPING_TARGETS", "MAX_PROBLEMS", "ROSTER_OPTIONAL", "ROSTER_REQUIRED", "SHOW_KEYS",
    "STANDARD_WEEK_HOURS", "SURVEY_KEYS", "DateStyle", "ImportLimits", "ImportSummary", "Problems",
    "absent_caseload_columns", "apply_mapping", "apply_roster_mapping", "date_style", "import_files",
    "is_event_file", "load_mapping", "parse_dates", "prepare", "read_table", "rollup_events", "sheet_names",
    "store_prepared", "terminal_progress", "validate_caseload", "validate_events", "validate_roster", "validate_surveys",
]
