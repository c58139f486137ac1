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
                a_change_starts_from_what_another_process_wrote_since,
                an_invalid_change_writes_nothing,
                asking_for_what_already_is_writes_nothing,
                every_change_is_audited_and_versioned,
                the_settings_of_a_past_instant_are_known,
                settings_persist_across_a_restart,
                a_workspace_cannot_see_or_change_another,
                looking_workspaces_up_lists_them_and_creates_none,
                a_nul_in_a_chat_title_is_stored_safely,
                a_workspace_moves_to_a_new_chat_with_everything_it_had,
                an_import_writes_every_setting_and_the_mix_as_one_version,
                importing_what_already_is_writes_nothing,
                an_import_into_no_workspace_is_refused,
                an_import_racing_toggles_loses_none_of_them,
            }
            audit {
                entries_come_back_newest_first_filtered_and_limited,
                a_workspace_cannot_see_another_workspaces_audit,
                a_nul_in_a_command_or_button_data_is_stored_safely,
                a_batch_of_many_workspaces_entries_puts_each_in_its_own_trail_in_order,
                a_batch_naming_a_workspace_that_does_not_exist_writes_none_of_it,
            }
            users {
                first_contact_makes_a_member_and_later_contacts_update_them,
                roles_are_given_per_workspace,
                a_workspace_cannot_see_another_workspaces_members,
                a_nul_in_a_name_is_stored_as_the_replacement_character,
                a_person_sees_their_own_memberships_only,
            }
            logins {
                an_attempt_is_taken_once_by_its_own_workspace_and_survives_a_restart,
                an_expired_attempt_is_returned_until_a_new_one_forgets_it,
                of_two_callbacks_racing_with_one_state_one_gets_the_attempt,
                a_picker_is_picked_once_by_its_person_before_it_expires,
            }
            notices {
                a_notice_is_news_once_per_key_and_again_after_it_is_forgotten,
            }
            replicas {
                heartbeats_list_the_live_replicas_and_a_stop_or_silence_removes_one,
            }
            cursor {
                the_cursor_only_moves_forward_and_survives_a_restart,
                an_update_is_claimed_once_per_bot_even_after_a_restart,
                claims_older_than_a_given_instant_are_forgotten,
                the_first_webhook_secret_stored_is_the_one_every_process_gets,
                a_batch_of_updates_is_claimed_in_one_go_skipping_those_taken_before,
            }
            conversations {
                a_prompt_waits_until_it_expires,
                a_new_prompt_replaces_the_old_and_clearing_removes_it,
                a_prompt_survives_a_restart,
                a_workspace_cannot_see_or_clear_another_workspaces_prompts,
                the_newest_prompt_anywhere_names_its_workspace,
            }
            init_wizards {
                a_wizard_waits_in_its_chat_survives_a_restart_and_expires,
                founding_creates_the_workspace_its_settings_and_owner_at_once,
            }
            library {
                the_same_content_is_indexed_once_and_reported,
                a_media_item_keeps_everything_it_was_added_with,
                categories_count_their_media_what_is_available_and_what_was_posted,
                the_category_mix_keeps_every_version,
                the_library_survives_a_restart,
                a_workspace_cannot_see_another_workspaces_media_or_mix,
                media_that_needs_interaction_is_marked_and_shown_in_the_queue,
            }
            queue {
                candidates_are_free_media_never_posted_first_a_few_per_category,
                enqueue_leaves_out_media_already_queued,
                the_posting_loop_claims_one_due_item_per_unpaused_workspace,
                concurrent_claimers_never_claim_the_same_item,
                next_claims_the_earliest_pending_item_due_or_not_paused_or_not,
                a_press_resolves_a_sent_item_once_with_history_lock_and_counters,
                a_press_before_the_send_is_marked_resolves_the_story_for_good,
                skip_and_reject_lock_the_media_for_a_while_and_for_good,
                racing_presses_resolve_an_item_exactly_once,
                a_failed_send_is_retried_then_given_up_with_a_history_row,
                overdue_items_are_counted_cleared_or_rescheduled,
                the_queue_survives_a_restart,
                a_workspace_cannot_see_claim_resolve_or_clear_another_workspaces_queue,
                publishing_through_the_api_records_the_method_and_media_id_once,
                a_press_records_how_the_story_was_posted,
                a_container_is_remembered_only_while_the_item_is_being_sent,
                every_slot_from_an_instant_on_is_read_back_with_its_status_done_ones_included,
                category_counts_are_what_is_queued_and_what_was_posted_since_an_instant,
            }
            accounts {
                the_only_account_becomes_active_by_itself,
                a_second_account_does_not_steal_the_selection_unless_asked,
                adding_an_instagram_id_already_added_is_refused_and_writes_nothing,
                switching_to_a_disabled_unknown_or_other_workspaces_account_is_refused,
                disabling_the_active_account_clears_the_selection_and_keeps_its_history,
                a_token_round_trips_through_the_vault_and_is_stored_sealed,
                a_ciphertext_copied_to_another_accounts_row_does_not_open,
                put_replaces_the_token_and_clears_the_notice,
                set_notice_returns_the_one_recorded_before,
                all_tokens_sees_the_enabled_accounts_of_every_workspace,
                reseal_all_moves_every_token_to_the_newest_key,
                verify_all_fails_with_a_wrong_key_or_none,
                the_database_refuses_a_second_token_for_the_same_account,
                a_token_saved_unchecked_says_so_until_a_checked_one_replaces_it,
                removing_an_account_forgets_its_token_disables_it_and_keeps_its_history,
                a_workspace_cannot_see_select_disable_or_read_another_workspaces_accounts,
            }
            sync {
                synced_items_are_every_item_with_what_the_source_said,
                a_move_keeps_the_id_history_times_posted_and_lock,
                a_removed_item_is_deactivated_its_pending_story_dropped_and_it_can_come_back,
                new_content_at_the_same_path_keeps_the_id,
                a_sync_is_all_or_nothing,
                a_workspace_cannot_see_or_change_another_workspaces_items,
            }
            sources {
                a_workspace_with_no_source_set_has_none_and_never_synced,
                versions_come_back_newest_first_and_every_change_is_audited,
                the_secret_is_kept_when_the_kind_stays_and_cleared_when_it_changes,
                the_secret_is_never_stored_in_clear,
                without_a_key_a_secret_is_refused_and_nothing_changes,
                a_workspace_cannot_see_or_change_another_workspaces_source,
                the_sync_status_is_replaced_and_survives_a_restart,
                reseal_source_secrets_moves_every_secret_to_the_newest_key,
                another_source_sets_the_old_items_aside_in_the_same_transaction,
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
