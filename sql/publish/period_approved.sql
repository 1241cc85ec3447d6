-- is_approved of a row `r` carrying unit_code, feed and period, once mart.approval exists (CONTRACT.md section 9):
-- the latest approval event of that unit's feed and period says approved.
coalesce((select a.status = 'approved' from mart.approval a
          where a.unit_code = r.unit_code and a.feed = r.feed and a.period = r.period
          order by a.approved_at desc limit 1), false)
