"""``report.html``: one self-contained page that says whether a run worked (class averages,
FSC, aligned members, embedding, training curves, configuration)."""

from jimnet.report.html import REPORT_NAME, render_report, write_report
from jimnet.report.run_info import RUN_INFO_NAME, read_run_info, run_info, write_run_info
from jimnet.report.sections import ReportContent, read_report_content

__all__ = [
    "REPORT_NAME",
    "RUN_INFO_NAME",
    "ReportContent",
    "read_report_content",
    "read_run_info",
    "render_report",
    "run_info",
    "write_report",
    "write_run_info",
]
