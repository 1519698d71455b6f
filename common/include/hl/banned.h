/* Included last by every source file: functions with a history of overflows or hidden
 * global state become compile errors (git's banned.h). Use snprintf, hl_buf, strtoll and
 * strtok_r instead. */
#ifndef HL_BANNED_H
#define HL_BANNED_H

#define HL_BANNED(func) sorry_##func##_is_banned_in_hookline

#undef strcpy
#define strcpy(x, y) HL_BANNED(strcpy)
#undef strcat
#define strcat(x, y) HL_BANNED(strcat)
#undef sprintf
#define sprintf(...) HL_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) HL_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) HL_BANNED(strtok)
#undef atoi
#define atoi(x) HL_BANNED(atoi)
#undef sscanf
#define sscanf(...) HL_BANNED(sscanf)
#undef gets
#define gets(x) HL_BANNED(gets)

#endif
