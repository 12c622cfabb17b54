"""Attribution: rules, matching, multi-touch models, SKAdNetwork."""
