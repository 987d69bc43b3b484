"""GraphQL documents shared by the e2e tests."""

CUSTOMER_FIELDS = """
  id code name kind tier lifecycleStage version tags attributes createdAt updatedAt
  owner { email }
  contacts { name email phone title primary }
  stageHistory { from to at reason by { email } }
"""

CREATE_CUSTOMER = f"""
mutation($input: CreateCustomerInput!) {{
  createCustomer(input: $input) {{
    customer {{ {CUSTOMER_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

UPDATE_CUSTOMER = f"""
mutation($input: UpdateCustomerInput!) {{
  updateCustomer(input: $input) {{
    customer {{ {CUSTOMER_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

CHANGE_STAGE = f"""
mutation($input: ChangeLifecycleStageInput!) {{
  changeLifecycleStage(input: $input) {{
    customer {{ {CUSTOMER_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

LOG_INTERACTION = """
mutation($input: LogInteractionInput!) {
  logInteraction(input: $input) {
    interaction { id kind summary rating occurredAt author { email } department { code } customer { code } }
    userErrors { field message code }
  }
}"""

GET_CUSTOMER = f"""
query($id: ID, $code: String) {{
  customer(id: $id, code: $code) {{ {CUSTOMER_FIELDS}
    interactions(first: 10) {{ totalCount edges {{ node {{ kind summary rating }} }} }}
    activity(first: 20) {{ totalCount edges {{ node {{ kind summary department {{ code }} actor {{ email }}
      subject {{ __typename id }} }} }} }}
  }}
}}"""

CREATE_STAFF = """
mutation($input: CreateStaffInput!) {
  createStaff(input: $input) { staff { id email role active version department { code } } userErrors { field message code } }
}"""

UPDATE_STAFF = """
mutation($input: UpdateStaffInput!) {
  updateStaff(input: $input) { staff { id email role active version department { code } } userErrors { field message code } }
}"""
