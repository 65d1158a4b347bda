"""The assistant's tools: subscriber data, playbook rules, churn, offers, scripts, reports."""
