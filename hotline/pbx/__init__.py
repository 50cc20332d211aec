"""The Asterisk wire: AGI and AMI sessions, the AMI event fold, the classic entry, the dialplan."""
