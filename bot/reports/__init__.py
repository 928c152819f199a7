"""Periodic reports on the conversation record: figures, charts, XLSX and PDF.

``bot.reports.periods`` names the period (quý, 6 tháng, năm), ``figures`` counts it,
``charts`` draws it, ``xlsx`` and ``pdf`` write the files a department sends up.
"""
