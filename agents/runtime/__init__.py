"""The agent graph: route -> agent step -> tool calls -> hand-off or final answer,
checkpointed after every step. Guard rails are enforced here, in code."""
