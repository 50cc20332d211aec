"""Post-call satisfaction surveys: ratings, the survey-call queue, policy and report."""
