"""Other machines over ssh (issue 15, in progress): the remote worker and its client."""
