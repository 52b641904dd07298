"""What the turn engine (``conversations/turns``) runs on: the router's per-account cache, tool
specs and dispatch, and the guard rails' pure checks. Nothing here writes conversation rows."""
