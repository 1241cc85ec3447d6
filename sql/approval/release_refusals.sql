-- Release the refusals by period_locked of a unit's feed for the reopened period :p (their bytes are new content
-- again: V011), and the copies of those bytes the unit sent while it was locked, recorded as duplicates of a refusal;
-- left holding the content, such a copy made every later copy of it "seen" and the unit's correction was never taken.
-- Returns how many refusals were released.
with refusals as (
    update audit.submission s set lock_released_at = clock_timestamp()
    where s.unit_code = :u and s.feed = :f and s.status = 'rejected' and s.lock_released_at is null
      and exists (select 1 from audit.check_result c, jsonb_array_elements(c.sample) e
                  where c.submission_id = s.submission_id and c.expectation = 'period_locked'
                    and e ->> 'period' = :p)
    returning s.unit_code, s.feed, s.sha256
), copies as (
    update audit.submission d set lock_released_at = clock_timestamp()
    from refusals r
    where d.unit_code = r.unit_code and d.feed = r.feed and d.sha256 = r.sha256
      and d.status = 'duplicate' and d.lock_released_at is null
    returning d.submission_id
)
select count(*) from refusals
