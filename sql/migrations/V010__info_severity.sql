-- V010: a check result may be `info`: a row of a unit's report template set aside as not data (title, column
-- numbers, section heading, total, signature block), listed with its reason so that nothing disappears unseen.
alter table audit.check_result drop constraint if exists check_result_severity_check;
alter table audit.check_result add constraint check_result_severity_check
    check (severity in ('error', 'warning', 'info'));
