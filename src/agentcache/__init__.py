"""AgentCache Edge."""
