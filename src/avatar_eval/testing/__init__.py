"""Known-answer clip construction (audio shifted/swapped/muted, frozen frames, blur, damage)."""
