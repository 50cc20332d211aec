"""Who answers: the seat directory, and the router's pure decisions."""
