"""The conversation workflow, split by concern: `workflow.py` is the Temporal class and its main loop; `states.py`
the states and allowed transitions; the other modules one step or effect each."""

from workflows.conversation.workflow import ConversationWorkflow

__all__ = ["ConversationWorkflow"]
