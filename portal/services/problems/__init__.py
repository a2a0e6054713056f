"""The exception inbox: problems raised and auto-resolved where the work happens (`record`,
`sources`), handled by people (`workflow`), listed (`inbox`, `overview`) and mailed (`alerts`)."""
