// Every command the window may call: read by build.rs (the ACL manifest, so capabilities gate
// each one) and by the shell (tests check the capability file and the handler against it).
&[
    "device",
    "init_device",
    "unlock",
    "lock",
    "list_cases",
    "open_case",
    "create_case",
    "edit_case",
    "add_visit",
    "answer",
    "add_note",
    "submit",
    "transition",
    "history",
    "templates",
    "save_draft",
    "drafts",
    "clear_drafts",
]
