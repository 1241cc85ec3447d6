-- Upsert units from incoming_unit; a unit dropped from the CSV is kept (facts refer to it) but made inactive.
insert into core.unit (unit_code, name_vi, name_en, level, parent_code, contact_email, is_active, monthly_feeds)
select unit_code, name_vi, name_en, level, parent_code, contact_email, is_active, monthly_feeds from incoming_unit
on conflict (unit_code) do update set
    name_vi = excluded.name_vi, name_en = excluded.name_en, level = excluded.level,
    parent_code = excluded.parent_code, contact_email = excluded.contact_email,
    is_active = excluded.is_active, monthly_feeds = excluded.monthly_feeds, updated_at = now()
where (core.unit.name_vi, core.unit.name_en, core.unit.level, core.unit.parent_code, core.unit.contact_email,
       core.unit.is_active, core.unit.monthly_feeds)
   is distinct from
      (excluded.name_vi, excluded.name_en, excluded.level, excluded.parent_code, excluded.contact_email,
       excluded.is_active, excluded.monthly_feeds);
update core.unit set is_active = false, updated_at = now()
where is_active and unit_code not in (select unit_code from incoming_unit)
