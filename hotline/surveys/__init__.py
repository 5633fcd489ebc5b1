"""Callback surveys (复核回访), satisfaction review (好差评) and department scorecards (考核)."""
