"""The supervisors' side: accounts, the live dashboard, listen / whisper / barge, scoring, KPIs."""
