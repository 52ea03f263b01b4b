"""District-level authorities (区级主管部门): staff rights and audit, invites, broadcasts, templates, announced windows."""
