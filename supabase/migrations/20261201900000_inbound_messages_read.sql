-- Staff mark callers' replies as read, so the dashboard can count the unread ones. Read
-- state is shared by the business (a reply answered by one person is answered), and it is
-- the only thing a member may change on a row the webhook wrote.
alter table public.inbound_messages add column read_at timestamptz;

-- The navigation's unread count: a partial index holds only what is still unread.
create index inbound_messages_org_unread on public.inbound_messages (organization_id, received_at desc)
  where read_at is null;

grant update (read_at) on public.inbound_messages to authenticated;

create policy "members mark their inbound messages read" on public.inbound_messages
  for update to authenticated
  using (organization_id = (select app.org_id()))
  with check (organization_id = (select app.org_id()));
