//! Every contract suite against every backend. Test names read `backend::port::behaviour`, so the
//! output shows which backend ran (e.g. `postgres::settings::toggle_is_atomic`).

macro_rules! suite {
    ($open:path; $($port:ident { $($test:ident),* $(,)? })*) => {
        $(mod $port {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() -> storyline_tests::TestResult {
                    match $open().await? {
                        Some(backend) => storyline_tests::suites::$port::$test(&backend).await,
                        None => Ok(()),
                    }
                }
            )*
        })*
    };
}

macro_rules! every_suite {
    ($open:path) => {
        suite!($open;
            settings {
                a_new_workspace_starts_from_the_defaults,
                racing_first_uses_create_one_workspace,
                toggle_is_atomic,
                an_invalid_change_writes_nothing,
                asking_for_what_already_is_writes_nothing,
                every_change_is_audited_and_versioned,
                the_settings_of_a_past_instant_are_known,
                settings_persist_across_a_restart,
                a_workspace_cannot_see_or_change_another,
            }
            audit {
                entries_come_back_newest_first_filtered_and_limited,
                a_workspace_cannot_see_another_workspaces_audit,
            }
            users {
                first_contact_makes_a_member_and_later_contacts_update_them,
                roles_are_given_per_workspace,
                a_workspace_cannot_see_another_workspaces_members,
            }
            cursor {
                the_cursor_only_moves_forward_and_survives_a_restart,
            }
            conversations {
                a_prompt_waits_until_it_expires,
                a_new_prompt_replaces_the_old_and_clearing_removes_it,
                a_prompt_survives_a_restart,
                a_workspace_cannot_see_or_clear_another_workspaces_prompts,
            }
        );
    };
}

mod memory {
    every_suite!(storyline_tests::Backend::memory);
}

mod sqlite {
    every_suite!(storyline_tests::Backend::sqlite);
}

mod postgres {
    every_suite!(storyline_tests::Backend::postgres);
}
