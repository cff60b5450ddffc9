"""Evaluation: suites of cases, scorers, configurations run side by side, reports.

``suites`` loads and validates cases, ``scoring`` holds the pure scorers, ``runner`` runs
configurations over suites, ``baseline`` is the LangChain tutorial pipeline we compare with,
and ``report`` writes the Markdown/HTML/JSON report. ``python -m rag eval`` drives them.
"""
