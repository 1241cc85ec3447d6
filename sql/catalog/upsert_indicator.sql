-- Upsert indicators from incoming_indicator (indicators are never deleted: history refers to them).
insert into core.indicator (indicator_code, name_vi, name_en, unit_of_measure, periodicity, aggregation,
                            min_value, max_value, direction, source_feed)
select indicator_code, name_vi, name_en, unit_of_measure, periodicity, aggregation,
       min_value, max_value, direction, source_feed from incoming_indicator
on conflict (indicator_code) do update set
    name_vi = excluded.name_vi, name_en = excluded.name_en, unit_of_measure = excluded.unit_of_measure,
    periodicity = excluded.periodicity, aggregation = excluded.aggregation, min_value = excluded.min_value,
    max_value = excluded.max_value, direction = excluded.direction, source_feed = excluded.source_feed,
    updated_at = now()
where (core.indicator.name_vi, core.indicator.name_en, core.indicator.unit_of_measure, core.indicator.periodicity,
       core.indicator.aggregation, core.indicator.min_value, core.indicator.max_value, core.indicator.direction,
       core.indicator.source_feed)
   is distinct from
      (excluded.name_vi, excluded.name_en, excluded.unit_of_measure, excluded.periodicity, excluded.aggregation,
       excluded.min_value, excluded.max_value, excluded.direction, excluded.source_feed)
