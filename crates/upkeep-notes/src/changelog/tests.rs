//! The splitter on the heading styles real projects write, one snippet per style.

use super::{Order, order_of, split_changelog};

fn versions(text: &str) -> Vec<String> {
    split_changelog(text, None)
        .iter()
        .map(|r| r.version.as_str().to_owned())
        .collect()
}

fn notes_of(text: &str, version: &str) -> String {
    split_changelog(text, None)
        .into_iter()
        .find(|r| r.version.as_str() == version)
        .unwrap_or_else(|| panic!("no release {version}"))
        .notes
}

#[test]
fn keep_a_changelog_headings_split_and_unreleased_belongs_to_none() {
    let text = "\
# Changelog

## [Unreleased]
- not yet

## [2.1.0] - 2024-03-01
### Breaking Changes
- `AUTH_MODE` was renamed

## [2.0.1] - 2024-02-02
- fix

[2.1.0]: https://example.org/compare/v2.0.1...v2.1.0
";
    assert_eq!(versions(text), ["2.1.0", "2.0.1"]);
    assert_eq!(
        notes_of(text, "2.1.0"),
        "### Breaking Changes\n- `AUTH_MODE` was renamed"
    );
}

#[test]
fn a_word_before_the_version_is_read() {
    let paperless = "\
# Changelog

## docuvault 2.20.14

### Bug Fixes

- Fix: the upload button stays disabled

## docuvault 2.20.13

### Features

- Feature: saved views remember their sort order
";
    assert_eq!(versions(paperless), ["2.20.14", "2.20.13"]);
    let release = "\
# Changelog Webmail

## Unreleased

- Something in progress

## Release 1.7.3

- Fix folder list refresh

## Release 1.7.2

- Security: escape the identity name
";
    assert_eq!(versions(release), ["1.7.3", "1.7.2"]);
    let synapse_like = "\
# Relay 1.120.1 (2026-07-22)

## Bugfixes

- Fix a regression in the media repository.

# Relay 1.120.0 (2026-07-21)

No significant changes since 1.120.0rc1.

# Relay 1.120.0rc1 (2026-07-14)

## Features

- Add a room summary endpoint.
";
    assert_eq!(versions(synapse_like), ["1.120.1", "1.120.0", "1.120.0rc1"]);
    assert_eq!(
        notes_of(synapse_like, "1.120.0"),
        "No significant changes since 1.120.0rc1."
    );
}

#[test]
fn release_please_and_conventional_changelog_link_headings_split() {
    // Minor releases at `#`, patches at `##`, interleaved: one history.
    let text = "\
# Changelog

## [1.2.1](https://github.com/example/app/compare/v1.2.0...v1.2.1) (2026-02-10)

### Bug Fixes

* **api:** keep the session cookie on refresh ([#812](https://github.com/example/app/issues/812)) ([4c1d2e0](https://github.com/example/app/commit/4c1d2e0))

# [1.2.0](https://github.com/example/app/compare/v1.1.0...v1.2.0) (2026-02-01)

### Features

* **ui:** dark mode ([#790](https://github.com/example/app/issues/790))

## [1.1.0](https://github.com/example/app/compare/v1.0.0...v1.1.0) (2026-01-02)

### ⚠ BREAKING CHANGES

* **config:** `server.port` moved to `http.port`
";
    assert_eq!(versions(text), ["1.2.1", "1.2.0", "1.1.0"]);
    assert!(notes_of(text, "1.1.0").contains("`server.port` moved"));
}

#[test]
fn asciidoc_and_rdoc_equals_headings_split() {
    let asciidoc = "\
= Changelog

== 1.7.4

* Fix the retry delay

== 1.7.3 (2025-11-02)

* Add a `--dry-run` flag
";
    assert_eq!(versions(asciidoc), ["1.7.4", "1.7.3"]);
    let rdoc = "\
=== 3.2.1 / 2025-06-01

* 1 bug fix:
  * Handle an empty body

=== 3.2.0 / 2025-05-12

* 2 minor enhancements:
  * Accept a timeout option
  * Log the request id
";
    assert_eq!(versions(rdoc), ["3.2.1", "3.2.0"]);
}

#[test]
fn setext_and_restructuredtext_underlines_split_and_stay_out_of_the_notes() {
    let setext = "\
Version 2.2.11 (July 26, 2025)
------------------------------

* fix(api): return 404 for a missing feed
* feat: add a keyboard shortcut

Version 2.2.10 (June 23, 2025)
------------------------------

* fix(ui): keep the scroll position
";
    assert_eq!(versions(setext), ["2.2.11", "2.2.10"]);
    assert_eq!(
        notes_of(setext, "2.2.11"),
        "* fix(api): return 404 for a missing feed\n* feat: add a keyboard shortcut"
    );
    let rst = "\
Changelog
=========

2.7.0 (2026-05-07)
==================

Features
--------

- Added support for retrying on more status codes.

2.6.3 (2026-01-07)
==================

- Fixed a decoding error on empty bodies.
";
    assert_eq!(versions(rst), ["2.7.0", "2.6.3"]);
    assert_eq!(
        notes_of(rst, "2.7.0"),
        "Features\n--------\n\n- Added support for retrying on more status codes."
    );
    let overlined = "\
=======
v1.8.4
=======

- fix a crash on an empty config

=======
v1.8.3
=======

- faster startup
";
    assert_eq!(versions(overlined), ["v1.8.4", "v1.8.3"]);
    assert_eq!(
        notes_of(overlined, "v1.8.4"),
        "- fix a crash on an empty config"
    );
    let mosquitto_like = "\
2.1.3 - 2026-02-xx
==================

# Broker
- Fix the will delay.

2.1.2 - 2026-02-09
==================

# Build
- Fix static linking.
";
    assert_eq!(versions(mosquitto_like), ["2.1.3", "2.1.2"]);
    assert_eq!(
        notes_of(mosquitto_like, "2.1.3"),
        "# Broker\n- Fix the will delay."
    );
}

#[test]
fn dated_plain_lines_split() {
    let dated = "\
2025-08-12 version 1.0.1

\t* Fix the IPv6 address check.

2025-07-30 version 1.0.0

\t* First stable release.
";
    assert_eq!(versions(dated), ["1.0.1", "1.0.0"]);
    let qbittorrent_like = "\
Unreleased - maintainer <maintainer@example.org> - v5.2.0alpha1
    - FEATURE: Filter the list by tag

Wed Nov 19th 2025 - maintainer <maintainer@example.org> - v5.1.4
    - BUGFIX: Keep the sort order after a restart
    - WEBUI: Fix the login form on small screens

Mon Sep 01st 2025 - maintainer <maintainer@example.org> - v5.1.3
    - BUGFIX: Do not crash on an empty tracker list
";
    assert_eq!(
        versions(qbittorrent_like),
        ["v5.2.0alpha1", "v5.1.4", "v5.1.3"]
    );
    assert_eq!(
        notes_of(qbittorrent_like, "v5.1.3"),
        "    - BUGFIX: Do not crash on an empty tracker list"
    );
    let express_like = "\
5.2.1 / 2025-12-01
==================

  * Fix the etag of empty bodies

5.2.0 / 2025-11-20
==================

  * Add `app.query()`
";
    assert_eq!(versions(express_like), ["5.2.1", "5.2.0"]);
    let prometheus_like = "\
## 3.14.0 / 2026-08-17

- [CHANGE] API: Deprecate a query parameter.

## 3.13.2 / 2026-07-29

- [BUGFIX] TSDB: Fix a race.
";
    assert_eq!(versions(prometheus_like), ["3.14.0", "3.13.2"]);
}

#[test]
fn prose_headings_name_their_release() {
    let htop_like = "\
What's new in version 3.5.3

* Fix a crash on hot-unplugged CPUs

What's new in version 3.5.2

* Read zram values again
";
    assert_eq!(versions(htop_like), ["3.5.3", "3.5.2"]);
    let zlib_like = "\
                ChangeLog file for a compression library

Changes in 1.3.1 (22 Jan 2024)
- Reject overflows of the window size

Changes in 1.3 (18 Aug 2023)
- Remove K&R function definitions
";
    assert_eq!(versions(zlib_like), ["1.3.1", "1.3"]);
    let tmux_like = "\
CHANGES FROM 3.4 TO 3.5

* Add a prompt history limit.

CHANGES FROM 3.3a TO 3.4

* Fix the status line redraw.
";
    assert_eq!(versions(tmux_like), ["3.5", "3.4"]);
}

#[test]
fn a_history_written_two_ways_splits_into_all_its_versions() {
    // Newer releases as Markdown headings, older ones as prose lines: one history.
    let text = "\
# 1.8.1

- Fix a parser crash.

# 1.8.0

- New `ltrimstr` options.

New features in 1.7 since 1.6:

- `limit(0)` now returns nothing.

New features in 1.6 since 1.5:

- Destructuring alternatives.
";
    assert_eq!(versions(text), ["1.8.1", "1.8.0", "1.7", "1.6"]);
}

#[test]
fn a_predecessor_projects_versions_out_of_order_are_not_split() {
    // The fork restarted at 1.0 and keeps its predecessor's history (2.x) at the end: those
    // headings do not order after 1.0 and stay text of the last release.
    let text = "\
## docuvault 1.1.0

- Mail rules

## docuvault 1.0.0

- First release of the fork

## Predecessor

### 2.7.0

- Last release of the old project

### 2.6.1

- A fix
";
    assert_eq!(versions(text), ["1.1.0", "1.0.0"]);
    assert!(notes_of(text, "1.0.0").contains("### 2.7.0"));
}

#[test]
fn a_heading_missing_its_underline_still_splits_when_it_orders() {
    let text = "\
2.0.7 - 2021-02-04
==================

- Fix the bridge reconnect.

2.0.6 - 2021-01-28

- Fix the websocket length.

2.0.5 - 2021-01-11
==================

- Fix a leak.

Upgrade to 2.0.9 before you read this.
";
    assert_eq!(versions(text), ["2.0.7", "2.0.6", "2.0.5"]);
    assert!(notes_of(text, "2.0.5").contains("Upgrade to 2.0.9"));
}

#[test]
fn headings_that_are_not_release_versions_stay_in_the_notes() {
    let text = "\
## 1.2.0
### 2 bugs fixed
- a
### Upgrading from 1.1
- read this
## Contributors
- b
```sh
# 1.2.0 is the version in this example
```
";
    let releases = split_changelog(text, None);
    assert_eq!(releases.len(), 1);
    assert!(releases[0].notes.contains("## Contributors"));
    assert!(releases[0].notes.contains("### Upgrading from 1.1"));
}

#[test]
fn a_sub_heading_repeating_the_version_is_not_a_new_release() {
    let text = "## 3.0.0\n\n### 3.0 migration notes\n\n- move the config\n\n## 2.9.0\n\n- old\n";
    assert_eq!(versions(text), ["3.0.0", "2.9.0"]);
    assert!(notes_of(text, "3.0.0").contains("move the config"));
}

#[test]
fn crlf_a_bom_and_odd_input_never_panic() {
    let crlf = "\u{feff}# Changelog\r\n\r\n## 1.0.1\r\n- fix\r\n\r\n## 1.0.0\r\n- first\r\n";
    assert_eq!(versions(crlf), ["1.0.1", "1.0.0"]);
    assert_eq!(notes_of(crlf, "1.0.1"), "- fix");
    for text in [
        "", "\n\n", "#", "## ", "==", "=\n=", "---\n---", "1.2\n===", "* **", "**1.0",
    ] {
        let _ = split_changelog(text, None);
    }
}

#[test]
fn the_order_of_split_versions_is_told() {
    let order = |text: &str| order_of(&split_changelog(text, None));
    assert_eq!(order("## 1.2.0\n## 1.1.0\n## 1.0.0\n"), Order::Descending);
    assert_eq!(order("## 1.0.0\n## 1.1.0\n"), Order::Ascending);
    assert_eq!(
        order("## v3.7.9\n## v3.6.24\n## v2.11.53\n## v3.7.8\n## v3.6.23\n"),
        Order::ByLine
    );
    assert_eq!(order("## 1.2.0\n## 1.2.2\n## 1.2.1\n"), Order::Unordered);
}

#[test]
fn restructuredtext_tilde_underlines_are_not_code_fences() {
    // Sphinx changelogs underline sub-sections with `~`, which Markdown reads as a fence.
    let text = "\
================
 Change history
================

.. _version-3.4.2:

3.4.2
=====
:release-date: 2026-05-02

What's Changed
~~~~~~~~~~~~~~

- Fix the retry of a revoked task (#9101)

.. _version-3.4.1:

3.4.1
=====
:release-date: 2026-04-11

What's Changed
~~~~~~~~~~~~~~

- Worker: restore the prefetch limit

~~~~~~~~~~~~~~~~
Upgrading to 3.4
~~~~~~~~~~~~~~~~

Read this first.

3.4.0
=====

- First release of the line
";
    assert_eq!(versions(text), ["3.4.2", "3.4.1", "3.4.0"]);
    assert!(notes_of(text, "3.4.1").contains("Worker: restore the prefetch limit"));
    // A real Markdown fence still hides what it holds.
    let fenced = "## 1.1.0\nExample:\n~~~\n## 9.9.9\n~~~\n## 1.0.0\n- first\n";
    assert_eq!(versions(fenced), ["1.1.0", "1.0.0"]);
}

#[test]
fn a_title_naming_the_release_line_is_not_a_release() {
    let text = "\
Cachebox 4.2 release notes
==========================

Upgrade urgency levels: LOW, MODERATE, HIGH.

======================================================
Cachebox 4.2.3    Released Mon 6 Apr 2026 10:00:00 UTC
======================================================

* Fix a crash in EXPIRE

Cachebox Community Edition 4.2.2    Released Mon 2 Mar 2026 10:00:00 UTC
====================================================================

* Fix the replica handshake

======================================================
Cachebox 4.2.1    Released Mon 2 Feb 2026 10:00:00 UTC
======================================================

* Security fix

=========================================================
Cachebox 4.2.0 GA    Released Mon 5 Jan 2026 10:00:00 UTC
=========================================================

* General availability

Fixes for issues in previous releases of Cachebox 4.2
-----------------------------------------------------

* A leak in the RC2 allocator

=======================================================
Cachebox 4.2 RC2    Released Mon 1 Dec 2025 10:00:00 UTC
=======================================================

* Second candidate

=======================================================
Cachebox 4.2 RC1    Released Mon 3 Nov 2025 10:00:00 UTC
=======================================================

* First candidate

Introduction to the Cachebox 4.2 release
========================================

Cachebox 4.2 brings a new allocator.
";
    assert_eq!(
        versions(text),
        ["4.2.3", "4.2.2", "4.2.1", "4.2.0", "4.2-RC2", "4.2-RC1"]
    );
    let releases = split_changelog(text, None);
    assert!(releases[4].prerelease && !releases[3].prerelease);
    assert_eq!(order_of(&split_changelog(text, None)), Order::Descending);
    assert_eq!(notes_of(text, "4.2.2"), "* Fix the replica handshake");
    assert!(notes_of(text, "4.2.0").ends_with("* A leak in the RC2 allocator"));
    assert!(notes_of(text, "4.2-RC1").ends_with("Cachebox 4.2 brings a new allocator."));
}

#[test]
fn a_code_fence_under_a_short_line_still_hides_only_its_code() {
    let backticks = "## 1.2.0\nOr:\n```\nnpm install foo@1.2.0\n```\n\n## 1.1.0\n- second\n\n## 1.0.0\n- first\n";
    assert_eq!(versions(backticks), ["1.2.0", "1.1.0", "1.0.0"]);
    let tildes = "## 1.2.0\nRun:\n~~~~\nmake\n~~~~\n\n## 1.1.0\n- second\n\n## 1.0.0\n- first\n";
    assert_eq!(versions(tildes), ["1.2.0", "1.1.0", "1.0.0"]);
}

#[test]
fn a_sub_heading_or_a_note_naming_another_version_is_not_a_release() {
    let requires =
        "## 2.4.0\n### Requires Terraform 2.3.5 or later\n- x\n\n## 2.3.0\n- y\n\n## 2.2.0\n- z\n";
    assert_eq!(versions(requires), ["2.4.0", "2.3.0", "2.2.0"]);
    assert_eq!(
        notes_of(requires, "2.4.0"),
        "### Requires Terraform 2.3.5 or later\n- x"
    );
    let bump = "## 0.5.0\n### Bump app to 0.4.9\n- x\n\n## 0.4.1\n- y\n\n## 0.4.0\n- z\n";
    assert_eq!(versions(bump), ["0.5.0", "0.4.1", "0.4.0"]);
    let upgrading = "# Upgrading to 3.1.0\n\nread this\n\n## 3.1.0-rc.2\n- c\n\n## 3.1.0-rc.1\n- b\n\n## 3.0.0\n- a\n";
    assert_eq!(versions(upgrading), ["3.1.0-rc.2", "3.1.0-rc.1", "3.0.0"]);
    let same_level = "## Upgrading to 3.1.0\n\nread this\n\n## 3.1.0-rc.2\n- c\n\n## 3.0.0\n- a\n";
    assert_eq!(versions(same_level), ["3.1.0-rc.2", "3.0.0"]);
}

#[test]
fn releases_of_one_level_that_repeat_a_version_stay_apart() {
    let two_packages = "# pkg-a\n\n## 1.1.0\n- a2\n\n## 1.0.0\n- a1\n\n# pkg-b\n\n## 1.1.0\n- b2\n\n## 1.0.0\n- b1\n";
    assert_eq!(versions(two_packages), ["1.1.0", "1.0.0", "1.1.0", "1.0.0"]);
    assert_eq!(notes_of(two_packages, "1.0.0"), "- a1\n\n# pkg-b");
    let highlights = "## 3.0.0 highlights\n- big\n\n## 3.0.1\n- fix\n\n## 3.0.0\n- first\n";
    let releases = split_changelog(highlights, None);
    assert_eq!(releases.len(), 3);
    assert_eq!(releases[1].notes, "- fix");
}
