"""Teams: who on my team knows them best, without sharing anyone's mail.

A member's mail stays theirs; a member who opts in shares, for each contact, a band and
the month of the last two-way contact, nothing else. The room's modules:

    ranking.py        (pure) band and month of a stored tie; ranking teammates; reach; risk
    draft.py          (pure) the introduction a teammate may send from their own mail
    membership.py     teams, members, sharing on/off, leave, remove
    invitations.py    signed, expiring, single-use invitations bound to one address
    shares.py         the shared table: written from snapshots, read by the answers
    answers.py        who knows a person/address/domain, an organisation's reach, key-person risk
    introductions.py  requests for an introduction, accepted or declined

Modules are imported by name (`from service.teams import answers`); nothing is re-exported.
"""
