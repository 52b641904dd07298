"""The turn engine: one turn of the agent graph (route -> agent step -> tool calls -> hand-off or
final answer), checkpointed after every step. It lives beside the conversation rows it writes;
the agents app provides what it runs on (gateway, router, tools, guard rails)."""
