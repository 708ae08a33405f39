"""Host side of the serial link to the display MCU in the glasses."""
