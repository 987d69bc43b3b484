"""A request's sign-in, checked together with its first read where that saves a round trip.

Every request's token names a staff member whose stored row must say they are active, on every request (so a
deactivation stops their tokens at once). Reading that row alone costs a round trip to the database, as much
as the whole answer of a hot read (`customer(id) { contacts }`). So when this process has admitted the member
before, `Authenticate` (api/app.py) leaves the check pending: the fast path (api/fast_path.py) asks the first
document it reads to bring the row along (application/queries/documents.py `SignIn`) and uses the document
only once the row is admitted and the member is still who the document was built for (department and role
decide what they see). Anything else confirms the sign-in first, with its own read, before it runs.
"""
from __future__ import annotations

from application.queries.documents import SignIn
from domain.organisation import Staff
from infrastructure.auth import Authenticator, Bearer, InvalidToken


class SignInChanged(Exception):
    """The member's department or role changed since last admitted: the answer was built for who they were."""


class PendingSignIn:
    def __init__(self, authenticator: Authenticator, bearer: Bearer, last_known: Staff) -> None:
        self._authenticator = authenticator
        self._bearer = bearer
        self.staff_id = bearer.staff_id
        self.last_known = last_known  # whom the fast path builds its answer for, until confirmed
        self.actor: Staff | None = None  # once confirmed
        self._refused: InvalidToken | None = None

    def with_first_read(self) -> SignIn | None:
        """The check for a document to bring the row along, or None once there is nothing left to check."""
        return SignIn(self.staff_id, self._accept) if self.actor is None and self._refused is None else None

    def _accept(self, stored: Staff | None) -> None:
        try:
            self.actor = self._authenticator.admit(stored, self._bearer)
        except InvalidToken as err:
            self._refused = err
            raise
        if (self.actor.department_id, self.actor.role) != (self.last_known.department_id, self.last_known.role):
            raise SignInChanged()

    async def confirmed(self) -> Staff:
        """The acting member, read now unless a document brought their row along; InvalidToken if refused."""
        if self._refused is not None:
            raise self._refused
        if self.actor is None:
            self.actor = await self._authenticator.confirm(self._bearer)
        return self.actor
