"""Trainee mode: cited scenario lessons and seeded quizzes on playbook facts (role-play lives beside them)."""
